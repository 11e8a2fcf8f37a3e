"""Group forming, in one place: the balancing rule (`forming`: teams, disciplines, group sizes,
staff, the SP timetable) and the commands that change membership (`membership`: forming the
groups, moves, locks, track choices, rebalancing, late joiners)."""
