"""Input/output helpers shared by every command: atomic files and folders, reproducible files.

Imports only the standard library at package level, so the command line starts fast.
"""
