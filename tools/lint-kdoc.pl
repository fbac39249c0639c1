#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# tools/lint-kdoc.pl FILE...: used by tools/lint.sh.
# Every function a file of module/ exports to the others (not static) has a
# kernel-doc comment naming it right above its definition.
use strict;
my $bad = 0;
for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	local $/;
	my $s = <$fh>;
	while ($s =~ /^((?:[a-z_][\w ]*[\w*]\s*?\n?)??)(codeheap_\w+)\(([^;{]*?)\)\n\{/mg) {
		my ($type, $name, $pos) = ($1, $2, $-[0]);
		next if $type =~ /^static\b/ || $type eq '';
		my $before = substr($s, 0, $pos);
		next if $before =~ /\/\*\*\n \* \Q$name\E\(\) - [^\n]+\n(?: \*[^\n]*\n)* \*\/\n\z/;
		my $line = () = $before =~ /\n/g;
		print "$f:", $line + 1, ": $name() is not static and has no kernel-doc\n";
		$bad = 1;
	}
}
exit $bad;
