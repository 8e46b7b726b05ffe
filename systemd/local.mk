# systemd/ -- lighthoused@.service, Lighthouse as a service (one instance
# per mount point), installed where systemd looks for units: configure
# asks pkg-config (--with-systemdsystemunitdir=DIR to choose, =no for
# none). make distcheck installs it under its own prefix.
if HAVE_SYSTEMD
systemdsystemunit_DATA = systemd/lighthoused@.service
endif
CLEANFILES += systemd/lighthoused@.service
EXTRA_DIST += systemd/lighthoused@.service.in
AM_DISTCHECK_CONFIGURE_FLAGS = --with-systemdsystemunitdir=$$dc_install_base/lib/systemd/system

systemd/lighthoused@.service: $(srcdir)/systemd/lighthoused@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	$(SED) -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@FUSERMOUNT[@]|$(FUSERMOUNT_UNIT)|g' \
		$(srcdir)/systemd/lighthoused@.service.in >$@.tmp && mv $@.tmp $@
