"""The demo: a simulated GitHub and a stand-in model, in the process, for the real daemon.

``autosolve-supervisor demo`` runs the whole daemon against them
(:mod:`autosolve.cli.demo`); the test-suite builds its fakes on them. Nothing
here imports the daemon: it is the world the daemon meets.

- :mod:`.server` — an HTTP server on loopback and its extension points;
- :mod:`.clock` — the simulation's clock (a counter, or the present);
- :mod:`.github` — the simulated GitHub (state, endpoints, shapes, limits, web view);
- :mod:`.model` — the stand-in model, speaking Ollama's API;
- :mod:`.analyst` — how the stand-in reads a prompt and answers it;
- :mod:`.catalog` — the demo repositories, their history and their script;
- :mod:`.world` — plays the script on the simulated GitHub;
- :mod:`.simulation` — all of it, started and stopped together.
"""
