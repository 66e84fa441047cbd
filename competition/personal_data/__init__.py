"""A person's own data: the download of everything the system holds about them (a ZIP built
by a job), kept for a few days and then deleted."""
