"""What the controller does when Envoy refuses a configuration anyway (a NACK).

Values Envoy would refuse are checked per object before they are sent
(translate/envoy_checks/); this package is the fallback for what those checks miss
(DESIGN.md, "Blast radius of one object"):

- `search`: given the objects that may be responsible and a way to ask "does the
  configuration without these load?", find the few that are (bisection under a budget);
- `withhold`: leave the output of withheld objects out of an IR, and give each of them a
  status that says why (Envoy's message in it);
- `fallback`: the task that, on a NACK, runs the search off the event loop with
  `envoy --mode validate`, withholds what it found and has the rest re-sent at once.
"""
