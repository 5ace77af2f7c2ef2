//! `CompanyService`'s portal accounts: create, list, update, over the application layer (which
//! decides who keeps a company's accounts: the authority, or the company's admins).

use bawaba_app::{AccountChange, NewAccount};
use bawaba_domain::account::{Account, Login};
use bawaba_store::Store;
use tonic::{Request, Response, Status};

use crate::convert::timestamp;
use crate::error::status;
use crate::pb;
use crate::service::Api;

type Reply<T> = Result<Response<T>, Status>;

fn pb_account(a: &Account) -> pb::Account {
    pb::Account {
        company_id: a.company.to_string(),
        login: a.login.to_string(),
        name: a.name.clone(),
        admin: a.admin,
        disabled: a.disabled,
        created_at: Some(timestamp(a.created_at)),
        locked_until: a.locked_until.map(timestamp),
    }
}

fn login(raw: &str) -> Result<Login, Status> {
    Login::parse(raw).map_err(status)
}

impl<S: Store> Api<S> {
    pub(crate) async fn account_create(
        &self,
        req: Request<pb::CreateAccountRequest>,
    ) -> Reply<pb::CreateAccountResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let r = req.into_inner();
        let new = NewAccount {
            login: login(&r.login)?,
            name: r.name,
            admin: r.admin,
            password: r.password,
        };
        let (a, made) = self
            .app
            .create_account(&p, company, new)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::CreateAccountResponse {
            account: Some(pb_account(&a)),
            password: made.unwrap_or_default(),
        }))
    }

    pub(crate) async fn account_list(
        &self,
        req: Request<pb::ListAccountsRequest>,
    ) -> Reply<pb::ListAccountsResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let accounts = self.app.accounts(&p, company).await.map_err(status)?;
        Ok(Response::new(pb::ListAccountsResponse {
            accounts: accounts.iter().map(pb_account).collect(),
        }))
    }

    pub(crate) async fn account_update(
        &self,
        req: Request<pb::UpdateAccountRequest>,
    ) -> Reply<pb::UpdateAccountResponse> {
        let (p, company) = self.company_caller(&req, &req.get_ref().company_id)?;
        let r = req.into_inner();
        let change = AccountChange {
            name: r.name,
            admin: r.admin,
            disabled: r.disabled,
            password: r.password,
        };
        self.app
            .update_account(&p, company, login(&r.login)?, change)
            .await
            .map_err(status)?;
        Ok(Response::new(pb::UpdateAccountResponse {}))
    }
}
