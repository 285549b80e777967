-- Before each run a new update goes live, so every product's row started
-- before the live version: the first write to a product makes its new
-- version row (the history copy of the main row and of its 10 attribute
-- rows), exactly the work of a first write at an update's version.
SELECT greatest(staging.live_version(), extract(epoch FROM now())::bigint) + 60 AS s \gset
SELECT staging.create_update('bench ' || :s, staging.to_timestamp(:s));
SELECT staging.advance(staging.to_timestamp(:s));
