"""translate.responses"""
