-- 0006_gram_counts.sql — how many sites hold each name bigram (issue #9,
-- "Scale"; docs/architecture.md).
--
-- Applied by core/store/store.c inside one transaction with PRAGMA
-- user_version = 6.
--
-- A search for text of two or more characters starts from the text's
-- rarest bigram (core/model/site.c, fic_site_search). Without counts it
-- found the rarest by reading each bigram's entries in site_grams up to the
-- rarest so far: work that grows with how common the text's bigrams are,
-- and so with the registry. With them it is one lookup a bigram. Kept by
-- triggers on site_grams in the same transaction as every change to it
-- (an INSERT OR IGNORE that inserts nothing fires nothing); a bigram no
-- site holds has no row. fic_store_check() recounts and compares.
CREATE TABLE site_gram_counts (
	gram TEXT PRIMARY KEY,
	n    INTEGER NOT NULL CHECK (n > 0)
) WITHOUT ROWID;
INSERT INTO site_gram_counts (gram, n) SELECT gram, count(*) FROM site_grams GROUP BY gram;

CREATE TRIGGER site_grams_count_in AFTER INSERT ON site_grams BEGIN
	INSERT INTO site_gram_counts (gram, n) VALUES (new.gram, 1)
		ON CONFLICT (gram) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER site_grams_count_out AFTER DELETE ON site_grams BEGIN
	DELETE FROM site_gram_counts WHERE gram = old.gram AND n = 1;
	UPDATE site_gram_counts SET n = n - 1 WHERE gram = old.gram;
END;
