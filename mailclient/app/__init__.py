"""The composition root: builds the services and starts the command line or the window."""
