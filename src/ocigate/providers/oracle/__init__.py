"""providers.oracle"""
