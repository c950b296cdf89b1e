"""Writing: the compose window, its address fields, spelling, Send Later and Undo Send."""
