-- A campaign may carry a survey (docs/campaigns.md, survey waves): each message holds the
-- customer's invitation to it; '' for none.
ALTER TABLE campaigns ADD COLUMN survey TEXT NOT NULL DEFAULT '';
