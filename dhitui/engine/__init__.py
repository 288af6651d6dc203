"""Talking to Docker Engines: choosing the endpoint, connecting, probing capabilities.

This package is the only place that imports docker-py, and it does so lazily (inside
functions), so importing `dhitui.engine` stays cheap.
"""
