"""The workspace: saved runs, names, hand edits, and the use cases over them (run and save, restore, compare,
assign)."""
