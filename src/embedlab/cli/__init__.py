"""The embedlab command line: thin commands over library calls."""
