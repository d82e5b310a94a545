"""translate.oracle"""
