package main

import (
	"os"

	"github.com/durable-go/durable"
)

// backupsHelp is what every verb that keeps backups says about them: one
// scheme, the root package's (durable.BackupName), for write, store and
// edit alike.
const backupsHelp = `Backups are FILE.bak.1 (the previous version) to FILE.bak.N: each write
shifts the older ones up and keeps as many as FILE already has (at least
one). They are hard links to the old versions (copies where the filesystem
has none), with their mode. An unnumbered FILE.bak made by earlier releases
of "durable write --backup" is left alone; durable fsck knows all of them.`

// existingBackups is how many numbered backups file has (at least one):
// a verb keeps as many as a program using package store set up.
func existingBackups(file string) int {
	n := 1
	for i := 2; i < 100; i++ {
		if _, err := os.Lstat(durable.BackupName(file, i)); err != nil {
			break
		}
		n = i
	}
	return n
}
