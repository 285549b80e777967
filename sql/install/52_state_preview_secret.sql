-- State (see sql/install/README): the first preview secret.
INSERT INTO staging.preview_secret (secret) VALUES (staging._random_secret());
