"""View models the pages draw (tables, map layers), shaped and tested without a browser."""
