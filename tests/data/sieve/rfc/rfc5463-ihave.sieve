# RFC 5463 §4
require ["ihave", "fileinto"];
if ihave "vnd.example.unknown" { frobnicate "now"; } else { fileinto "no-unknown"; }
if ihave ["fileinto", "relational"] { fileinto "has-both"; }
