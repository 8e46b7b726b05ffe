# man/ -- the manual pages, hand-written in mdoc(7); installed always.
dist_man_MANS += man/lighthoused.8 man/lighthousectl.8 man/lighthouse-hook.1 man/lighthouse-policy.5 man/lighthouse.7
