#!/usr/bin/perl
# treecopy.pl SRC DST: copy a maildir tree (a server's or a client's, with
# its state files) cheaply and exactly, for restoring a benchmark state.
#
# Message files (anything in a cur/ or new/ directory) are hard links:
# neither Dovecot nor the clients ever write into a message file (a flag
# change is a rename, a deletion an unlink), so linking is safe and costs
# no data writes that would be flushed during the next timed run.  Every
# other file (indexes, uid lists, state databases and journals, which are
# rewritten in place) is copied.  Owners, modes and times are kept,
# directory times last: mbsync sleeps when a directory changed within the
# last second, and a tool may compare directory times with its state.
# DST must not exist.
use strict;
use warnings;
use File::Copy qw(copy);

my ($src, $dst) = @ARGV;
die "usage: treecopy.pl SRC DST\n" unless defined $dst && -d $src;
die "treecopy.pl: $dst exists\n" if -e $dst || -l $dst;

my @dirs;

sub walk {
	my ($s, $d, $in_msgdir) = @_;
	my @st = lstat($s) or die "treecopy.pl: $s: $!\n";
	mkdir($d) or die "treecopy.pl: mkdir $d: $!\n";
	push @dirs, [$d, @st];
	opendir(my $dh, $s) or die "treecopy.pl: $s: $!\n";
	my @names = grep { $_ ne '.' && $_ ne '..' } readdir($dh);
	closedir($dh);
	for my $name (@names) {
		my ($sp, $dp) = ("$s/$name", "$d/$name");
		my @fst = lstat($sp) or die "treecopy.pl: $sp: $!\n";
		if (-d _) {
			walk($sp, $dp, $name eq 'cur' || $name eq 'new');
		} elsif (-l _) {
			symlink(readlink($sp), $dp)
			    or die "treecopy.pl: $dp: $!\n";
		} elsif ($in_msgdir) {
			link($sp, $dp) or die "treecopy.pl: link $dp: $!\n";
		} else {
			copy($sp, $dp) or die "treecopy.pl: $dp: $!\n";
			chown($fst[4], $fst[5], $dp);
			chmod($fst[2] & 07777, $dp);
			utime($fst[8], $fst[9], $dp);
		}
	}
}

walk($src, $dst, 0);
for my $e (reverse @dirs) {
	my ($d, @st) = @$e;
	chown($st[4], $st[5], $d);
	chmod($st[2] & 07777, $d);
	utime($st[8], $st[9], $d) or die "treecopy.pl: utime $d: $!\n";
}
