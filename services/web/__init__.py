"""The web console: ``triwarn web`` serves the live picture as a map in the browser (server, feed, static page)."""
