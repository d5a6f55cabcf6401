// The sign-in lives in sessionStorage: it ends with the tab, and no other site can read it.
const TOKEN = 'eim.token';
const PROJECT = 'eim.project';

export const session = {
  token: (): string | null => sessionStorage.getItem(TOKEN),
  project: (): string | null => sessionStorage.getItem(PROJECT),
  signIn(token: string, project: string): void {
    sessionStorage.setItem(TOKEN, token);
    sessionStorage.setItem(PROJECT, project);
  },
  setProject: (project: string): void => sessionStorage.setItem(PROJECT, project),
  signOut(): void {
    sessionStorage.removeItem(TOKEN);
    sessionStorage.removeItem(PROJECT);
  },
};
