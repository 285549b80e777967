# PGXS build of the staging extension.
#
#   make && make install      build and install (see tools/setup)
#   tools/test                every test on throwaway clusters (see README)
#   make installcheck         pg_regress + isolation against a running server
#                             that has shared_preload_libraries = 'staging'

EXTENSION = staging
MODULE_big = staging
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
DATA = $(wildcard sql/$(EXTENSION)--*.sql)
PGFILEDESC = "staging - content staging for PostgreSQL"

# Every sql/*.sql that is not an install script is a pg_regress test, and
# every test/isolation/specs/*.spec an isolation test; both expect the
# extension to be created in the test database beforehand.
REGRESS = $(sort $(basename $(notdir $(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql)))))
REGRESS_OPTS = --load-extension=$(EXTENSION)
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --load-extension=$(EXTENSION)

# -Wextra, less the two warnings that PostgreSQL's own callback signatures
# and node initialisers trigger everywhere.  CI adds WERROR=-Werror.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(WERROR)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every module includes the shared header.
$(OBJS): src/staging.h
