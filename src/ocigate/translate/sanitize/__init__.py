"""translate.sanitize"""
