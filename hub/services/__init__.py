"""Domain services: the one implementation every door (web, mail, CLI, jobs) calls."""
