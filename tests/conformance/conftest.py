# The fixture projects are suites to run, not tests of repro: they fail on purpose.
collect_ignore_glob = ["projects/*"]
