# RFC 5230 §4
require ["vacation"];
vacation :days 7 :subject "Out of office" :addresses ["me@example.com"] "I'm away until Monday.";
