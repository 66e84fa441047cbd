"""The public portal: programmes, open calls, funded consortia and open data, for anyone."""
