"""Reverie Studio: every registered mechanism in the browser, on the user's machine.

`app` (the FastAPI app and its pages), `jobs` (the queue: one heavy job at a time by
default), `forms` (controls generated from Configs), `files` (safe paths and checked
uploads). Started by `reverie studio`.
"""
