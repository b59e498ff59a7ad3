from shopbot.cli import main

raise SystemExit(main())
