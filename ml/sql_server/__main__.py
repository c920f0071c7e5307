import sys

from ml.sql_server.server import main

sys.exit(main())
