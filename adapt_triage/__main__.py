from adapt_triage.cli import main

main()
