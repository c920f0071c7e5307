"""Serve the project's warehouse over JDBC/Thrift: a shared Hive metastore and a Spark Thrift server.

``python -m ml.sql_server start|stop|status`` (``make sql-server`` / ``make sql-server-stop``).
See the module :mod:`ml.sql_server.server` for what runs and where its files are.
"""
