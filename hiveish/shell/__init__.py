"""The interactive `hiveish` shell (prompt_toolkit): `hiveish.shell.app.run(session, args)`."""
