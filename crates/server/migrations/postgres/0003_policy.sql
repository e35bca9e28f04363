-- The verdict policy (issue #14): the admin's choice, recorded with every scan, and the reason
-- staff give when they approve a version that needs review.
CREATE TABLE settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- A new repository decides with `vetted`; one that already holds versions keeps plugins.qgis.org's
-- decision until its admin previews the change and switches.
INSERT INTO settings (name, value, updated_at)
SELECT 'policy', CASE WHEN EXISTS (SELECT 1 FROM versions) THEN 'qgis' ELSE 'vetted' END, 0;

ALTER TABLE scans ADD COLUMN policy TEXT NOT NULL DEFAULT 'qgis';
ALTER TABLE scans ADD COLUMN policy_version TEXT NOT NULL DEFAULT '1';
ALTER TABLE versions ADD COLUMN approval_reason TEXT;
ALTER TABLE versions ADD COLUMN approved_by BIGINT;
