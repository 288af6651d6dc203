"""The Textual front end: thin widgets over the domain modules (engine, detect, live, ...)."""
