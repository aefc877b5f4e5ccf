"""The bundled demo estate: legacy applications that Backroom's demo bots and tests drive."""
