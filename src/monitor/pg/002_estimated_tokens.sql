-- Whether a record's token counts are the gateway's own estimate (the
-- upstream reported none, as Gemini's embeddings do).
ALTER TABLE requests ADD COLUMN estimated_tokens BOOLEAN NOT NULL DEFAULT false;
