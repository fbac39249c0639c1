#!/usr/bin/perl
# SPDX-License-Identifier: GPL-2.0
#
# tools/lint-module.pl FILE...: the module's own conventions, for
# tools/lint.sh (prints each violation, exits 1 if there is one):
#  - every function a file of module/ exports to the others (not static)
#    has a kernel-doc comment naming it right above its definition;
#  - every function named *_locked asserts the lock it is called with
#    (lockdep_assert_held() or mmap_assert_locked()).
use strict;
my $bad = 0;
for my $f (@ARGV) {
	open(my $fh, '<', $f) or die "$f: $!";
	local $/;
	my $s = <$fh>;
	while ($s =~ /^((?:[a-z_][\w ]*[\w*]\s*?\n?)??)(codeheap_\w+)\(([^;{]*?)\)\n\{(.*?)\n\}/msg) {
		my ($type, $name, $body, $pos) = ($1, $2, $4, $-[0]);
		my $before = substr($s, 0, $pos);
		my $line = (() = $before =~ /\n/g) + 1;
		if ($name =~ /_locked$/ &&
		    $body !~ /lockdep_assert_held|mmap_assert_locked/) {
			print "$f:$line: $name() does not assert its lock\n";
			$bad = 1;
		}
		next if $type =~ /^static\b/ || $type eq '';
		next if $before =~ /\/\*\*\n \* \Q$name\E\(\) - [^\n]+\n(?: \*[^\n]*\n)* \*\/\n\z/;
		print "$f:$line: $name() is not static and has no kernel-doc\n";
		$bad = 1;
	}
}
exit $bad;
