"""Infrastructure: clients for the outside world (GitHub, Ollama) and shared HTTP plumbing.

Errors raised here *declare* their nature through the capability methods of
:mod:`autosolve.runtime.capabilities`; they never decide restart policy themselves.
"""
