from wedge_cli.main import main

raise SystemExit(main())
