"""View models the pages draw (tables, map layers), the figures the library draws too, and the shareable report
built from them: shaped and tested without a browser."""
