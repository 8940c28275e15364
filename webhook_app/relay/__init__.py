"""Discord relay: the study alert, the logs and errors channels, and their webhook poster."""
