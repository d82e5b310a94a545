from ocigate.cli.main import main

raise SystemExit(main())
