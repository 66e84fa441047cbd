"""Long work done off the request (assignment runs, rankings, publication): one table, one way
to start, claim, report progress, beat a heart and end."""
