-- A campaign's messages newest first, page by page (the campaign report, the message list
-- filtered by campaign): without it each page sorted all of the campaign's messages.
CREATE INDEX outbox_by_campaign_id ON outbox (workspace_id, campaign, id);
