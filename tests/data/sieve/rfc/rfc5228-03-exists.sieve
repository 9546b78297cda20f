# RFC 5228 §5.5
require "fileinto";
if exists ["From", "Date"] { fileinto "complete"; }
if not exists "List-Id" { fileinto "not-a-list"; }
