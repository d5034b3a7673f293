"""What the web workbench (api/ui) reads beyond the API's look-ups: an entity's history and
successor, and Splink's own charts (cluster studio, waterfall) for one entity or pair."""
