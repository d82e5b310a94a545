"""Thin routes: parse, authenticate, dispatch, respond."""
