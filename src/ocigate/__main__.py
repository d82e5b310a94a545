from ocigate.cli import main

raise SystemExit(main())
